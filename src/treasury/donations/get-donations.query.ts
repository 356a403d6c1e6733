/** The public donations summary (SPEC §5 GET /v1/donations). */
export class GetDonationsQuery {}
