// The input key under which every hostform resource passes its owner (see owner.ts). Part of the
// provider-engine protocol like `__provider`: the hostform engine keeps it out of the changes it
// shows. A module of its own so the engine can name it without loading the Pulumi SDK.

/** The input key of the owner. */
export const OWNER_KEY = "__owner";
