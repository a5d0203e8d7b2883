-- title: Units sold per minute, by store
-- chart: line x=window_start y=sold
SELECT window_start, sum(sold) AS sold
FROM marts.sales_1m
WHERE window_start > now() - INTERVAL 1 HOUR
GROUP BY window_start
ORDER BY window_start
