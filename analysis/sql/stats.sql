-- Statistics macros every analysis uses (run folders and replays alike).

-- Wilson score interval, 95%: bounds for k successes out of n, with z the 97.5% normal quantile.
CREATE OR REPLACE MACRO wilson_z() AS 1.959963984540054;
CREATE OR REPLACE MACRO wilson_bound(k, n, sign) AS CASE WHEN n > 0 THEN
  (k::DOUBLE / n + wilson_z() ^ 2 / (2 * n)
   + sign * wilson_z() * sqrt((k::DOUBLE / n) * (1 - k::DOUBLE / n) / n + wilson_z() ^ 2 / (4 * n::DOUBLE * n)))
  / (1 + wilson_z() ^ 2 / n) END;
CREATE OR REPLACE MACRO wilson_lo(k, n) AS CASE WHEN n > 0 THEN greatest(0, wilson_bound(k, n, -1)) END;
CREATE OR REPLACE MACRO wilson_hi(k, n) AS CASE WHEN n > 0 THEN least(1, wilson_bound(k, n, 1)) END;
CREATE OR REPLACE MACRO rate(k, n) AS CASE WHEN n > 0 THEN k::DOUBLE / n END;
