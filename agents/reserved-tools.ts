/** Tool names the agent runtime keeps for itself; suites must not define tools with these names. */
export { MEMORY_WRITE_TOOL as SAVE_MEMORY_TOOL } from "../defenses/approver.ts";

/** Calls to `delegate_to_<peer>` hand work to a peer agent. */
export const DELEGATE_PREFIX = "delegate_to_";
