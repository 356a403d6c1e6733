import { ReasonDto } from '../../platform/http/reason.dto';

/** `{reason}`: why the payout is cancelled, for the audit trail. */
export class CancelPayoutDto extends ReasonDto {}
