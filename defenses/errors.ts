/**
 * Bad input about defenses: an unknown layer or configuration name, or a malformed configuration file.
 * `code = "bad_input"` is the contract the CLI reads to exit with 2.
 */
export class DefenseConfigError extends Error {
  readonly code = "bad_input";
  constructor(message: string) {
    super(message);
    this.name = "DefenseConfigError";
  }
}
