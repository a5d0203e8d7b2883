-- The shop's pages by views, visitors and revenue, rebuilt every hour (now: `watershed run`)
-- schedule: @hourly
SELECT page, COUNT(*) AS `views`, COUNT(DISTINCT `user`) AS visitors, COALESCE(SUM(price), 0) AS revenue
FROM raw.clicks
GROUP BY page
