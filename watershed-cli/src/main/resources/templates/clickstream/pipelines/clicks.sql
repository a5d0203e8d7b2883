-- The speed layer: runs continuously on every click as it arrives.

-- Each page's views, visitors and revenue so far, current within a second of each click
-- (SELECT * FROM live.page_activity ORDER BY views DESC)
CREATE LIVE VIEW page_activity AS
SELECT page, COUNT(*) AS `views`, COUNT(DISTINCT `user`) AS visitors, COUNT(price) AS purchases,
       COALESCE(SUM(price), 0) AS revenue, MAX(ts) AS last_click
FROM streams.clicks
GROUP BY page;

-- Every purchase, appended to the lake table marts.purchases at each checkpoint
-- (clicks whose price the stream cannot read are counted as unreadable and stay in raw.clicks__dlq)
INSERT INTO marts.purchases
SELECT `user`, page, price, ts
FROM streams.clicks
WHERE price IS NOT NULL;
