import { type Projection } from './runtime/projection';
import { adminAuditProjection } from './admin-audit/admin-audit.projection';
import { abuseFlagsProjection } from './abuse-flags/abuse-flags.projection';
import { accrualsProjection } from './accruals/accruals.projection';
import { journalProjection } from './journal/journal.projection';
import { payoutsProjection } from './payouts/payouts.projection';
import { treasuryProjection } from './treasury/treasury.projection';
import { usersProjection } from './users/users.projection';
import { verificationsProjection } from './verifications/verifications.projection';
import { walletsProjection } from './wallets/wallets.projection';

/** Every read model, in the order a rebuild runs them. */
export const allProjections: readonly Projection[] = [
  usersProjection,
  walletsProjection,
  verificationsProjection,
  accrualsProjection,
  abuseFlagsProjection,
  payoutsProjection,
  treasuryProjection,
  journalProjection,
  adminAuditProjection,
];

export { type Projection } from './runtime/projection';
export { Projector, measureLag, resetProjection, type ProjectionStatus, type ProjectionLag } from './runtime/projector';
