import { CholeskyDecomposition, Matrix } from "ml-matrix";

/** A parameter's prior: a normal distribution on its log-odds scale. */
export interface Prior {
  readonly mean: number;
  readonly sd: number;
}

export interface LogisticFit {
  /** Maximum a posteriori estimates, intercept first. */
  readonly beta: readonly number[];
  /** Laplace approximation of the posterior's standard deviations, in the same order. */
  readonly se: readonly number[];
  readonly iterations: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Logistic regression by maximum a posteriori (Newton's method), with a normal prior on each coefficient: where the
 * data does not vary a feature its coefficient stays at the prior, where it does the data decides. The standard
 * errors are the Laplace approximation's (the inverse Hessian of the negative log posterior at the estimate).
 * Rows are 0/1 feature vectors with the intercept's 1 first.
 */
export function fitLogistic(rows: readonly (readonly number[])[], outcomes: readonly number[], priors: readonly Prior[]): LogisticFit {
  const k = priors.length;
  const beta = priors.map((p) => p.mean);
  let iterations = 0;
  let precision = new Matrix(k, k);
  for (; iterations < 100; iterations++) {
    const gradient = new Array<number>(k).fill(0);
    precision = new Matrix(k, k);
    rows.forEach((x, i) => {
      let eta = 0;
      for (let j = 0; j < k; j++) eta += x[j]! * beta[j]!;
      const p = sigmoid(eta);
      const r = outcomes[i]! - p;
      const v = p * (1 - p);
      for (let a = 0; a < k; a++) {
        if (x[a] === 0) continue;
        gradient[a]! += r * x[a]!;
        for (let b = 0; b < k; b++) if (x[b] !== 0) precision.set(a, b, precision.get(a, b) + v * x[a]! * x[b]!);
      }
    });
    for (let j = 0; j < k; j++) {
      gradient[j]! -= (beta[j]! - priors[j]!.mean) / priors[j]!.sd ** 2;
      precision.set(j, j, precision.get(j, j) + 1 / priors[j]!.sd ** 2);
    }
    const step = new CholeskyDecomposition(precision).solve(Matrix.columnVector(gradient)).to1DArray();
    let largest = 0;
    for (let j = 0; j < k; j++) {
      beta[j]! += step[j]!;
      largest = Math.max(largest, Math.abs(step[j]!));
    }
    if (largest < 1e-8) break;
  }
  const covariance = new CholeskyDecomposition(precision).solve(Matrix.eye(k));
  return { beta, se: beta.map((_, j) => Math.sqrt(covariance.get(j, j))), iterations };
}

export function predict(beta: readonly number[], x: readonly number[]): number {
  let eta = 0;
  for (let j = 0; j < beta.length; j++) eta += x[j]! * beta[j]!;
  return sigmoid(eta);
}
