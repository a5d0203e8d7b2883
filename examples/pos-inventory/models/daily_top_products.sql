-- The top 10 products of each day by units sold, over all stores (rebuilt every night)
-- schedule: @daily
SELECT `day`, product, units, rk FROM (
  SELECT `day`, product, units, ROW_NUMBER() OVER (PARTITION BY `day` ORDER BY units DESC, product) AS rk
  FROM (
    SELECT CAST(ts AS DATE) AS `day`, product, SUM(qty) AS units
    FROM raw.sales
    GROUP BY CAST(ts AS DATE), product))
WHERE rk <= 10
