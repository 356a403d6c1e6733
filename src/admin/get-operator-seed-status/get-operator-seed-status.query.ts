export class GetOperatorSeedStatusQuery {}
