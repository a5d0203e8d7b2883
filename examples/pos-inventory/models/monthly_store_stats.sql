-- Sales and units per store and month; each monthly run replaces the month that just ended
-- materialized: incremental
-- partition_by: month
-- schedule: @monthly
SELECT CAST(DATE_FORMAT(ts, 'yyyy-MM-01') AS DATE) AS `month`, store, COUNT(*) AS sales, SUM(qty) AS units,
       COUNT(DISTINCT product) AS products
FROM raw.sales
WHERE ts >= {{ start }} AND ts < {{ end }}
GROUP BY CAST(DATE_FORMAT(ts, 'yyyy-MM-01') AS DATE), store
