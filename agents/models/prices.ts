import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";

export const DEFAULT_PRICES_FILE = fileURLToPath(new URL("./prices.json", import.meta.url));

const PriceSchema = z.strictObject({ input_per_million: z.number().min(0), output_per_million: z.number().min(0) });
export type ModelPrice = z.infer<typeof PriceSchema>;

const PricesSchema = z.strictObject({
  description: z.string().optional(),
  as_of: z.string().min(1),
  models: z.record(z.string().min(1), PriceSchema),
});
export type Prices = z.infer<typeof PricesSchema> & { readonly file: string };

/** A malformed or missing prices file. CLI exit code 2. */
export class PricesFileError extends Error {
  readonly code = "bad_input";
  constructor(message: string) {
    super(message);
    this.name = "PricesFileError";
  }
}

/** The prices configuration: model name → US dollars per million input and output tokens. */
export function loadPrices(file: string = DEFAULT_PRICES_FILE): Prices {
  if (!existsSync(file)) throw new PricesFileError(`prices file ${file} does not exist`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new PricesFileError(`${file}: not valid JSON: ${(error as Error).message}`);
  }
  const parsed = PricesSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`).join("\n");
    throw new PricesFileError(`${file}: invalid prices file (expected {"as_of": "...", "models": {"NAME": {"input_per_million": N, "output_per_million": N}}})\n${issues}`);
  }
  return { ...parsed.data, file };
}

/** The dollars an episode's tokens cost, or null when the model has no price. */
export const costOf = (price: ModelPrice | null, inputTokens: number, outputTokens: number): number | null =>
  price === null ? null : (inputTokens * price.input_per_million + outputTokens * price.output_per_million) / 1e6;
