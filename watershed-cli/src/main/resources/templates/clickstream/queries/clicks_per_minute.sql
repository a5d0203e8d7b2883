-- title: Clicks and purchases per minute
-- chart: line x=minute y=clicks,purchases
SELECT date_trunc('minute', ts) AS minute,
       count(*) AS clicks,
       count(price) AS purchases
FROM raw.clicks
WHERE ts > now() - INTERVAL 30 MINUTE
GROUP BY 1
ORDER BY 1
