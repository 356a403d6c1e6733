/** This process's master key (a MasterKey, or null where none is set: see resolveMasterKey). */
export const MASTER_KEY = Symbol('MASTER_KEY');
/** The secure_config table with its writes (a SecureConfigStore). */
export const SECURE_CONFIG_STORE = Symbol('SECURE_CONFIG_STORE');
