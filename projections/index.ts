import { type Projection } from './runtime/projection';
import { usersProjection } from './users/users.projection';

/** Every read model, in the order a rebuild runs them. */
export const allProjections: readonly Projection[] = [usersProjection];

export { type Projection } from './runtime/projection';
export { Projector, measureLag, resetProjection, type ProjectionStatus, type ProjectionLag } from './runtime/projector';
