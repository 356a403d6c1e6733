/** GET /v1/admin/reconciliation: the ledger's operator wallet against the chain, now. */
export class GetReconciliationQuery {}
