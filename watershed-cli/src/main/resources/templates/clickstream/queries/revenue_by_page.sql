-- title: Revenue by page (last hour)
-- chart: bar x=page y=revenue
SELECT page, round(sum(price), 2) AS revenue
FROM raw.clicks
WHERE ts > now() - INTERVAL 1 HOUR AND price IS NOT NULL
GROUP BY page
ORDER BY revenue DESC
