-- The top 10 search terms of each minute, kept current as live.search_rank_1m
CREATE LIVE VIEW search_rank_1m AS
SELECT window_start, term, cnt, rk FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY cnt DESC, term) AS rk FROM (
    SELECT window_start, window_end, term, COUNT(*) AS cnt
    FROM TABLE(TUMBLE(TABLE streams.searches, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
    GROUP BY window_start, window_end, term))
WHERE rk <= 10;

-- Every term's count per minute, in the lake for the batch layer (hourly and daily rankings)
INSERT INTO marts.search_counts_1m
SELECT window_start, term, COUNT(*) AS cnt, COUNT(DISTINCT `user`) AS users
FROM TABLE(TUMBLE(TABLE streams.searches, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, term;
