-- Every movement of stock: deliveries add, sales take away
CREATE TEMPORARY VIEW movements AS
SELECT store, product, qty FROM streams.restocks
UNION ALL
SELECT store, product, -qty FROM streams.sales;

-- The running stock of each product in each store
CREATE LIVE VIEW stock AS
SELECT store, product, SUM(qty) AS on_hand FROM movements GROUP BY store, product;

-- What to reorder now: products under 20 in a store (rows leave the view when a delivery lifts them)
CREATE LIVE VIEW low_stock AS
SELECT store, product, on_hand FROM (
  SELECT store, product, SUM(qty) AS on_hand FROM movements GROUP BY store, product)
WHERE on_hand < 20;

-- Sales per product and minute, in the lake
INSERT INTO marts.sales_1m
SELECT window_start, store, product, SUM(qty) AS sold
FROM TABLE(TUMBLE(TABLE streams.sales, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, store, product;
