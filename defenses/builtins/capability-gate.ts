import { z } from "zod";
import { allow, askApproval, type Defense, SENSITIVITIES } from "../types.ts";

export const CapabilityGateParams = z.strictObject({
  /** Tool sensitivities that expand what someone can do: each use needs the human. */
  gated: z.array(z.enum(SENSITIVITIES)).default(["privileged"]),
});

/**
 * L1 approval gate for capability expansion: granting access, adding users, changing limits, deploying — any
 * privileged call and any request for a new capability — goes to the human first.
 */
export function capabilityGate(raw: unknown = {}): Defense {
  const params = CapabilityGateParams.parse(raw);
  const gated = new Set<string>(params.gated);
  return {
    id: "capability-gate",
    layer: "L1",
    version: "1.0.0",
    description: "Approval gate for capability expansion: privileged calls and capability requests need the human",
    params,
    hooks: {
      onToolCall: (call) => (gated.has(call.tool.sensitivity) ? askApproval("capability.privileged", `${call.tool.name} changes who can do what`) : allow),
      onCapabilityRequest: (request) => askApproval("capability.request", `${request.agent} asks for ${request.capability}: ${request.reason}`),
    },
  };
}
