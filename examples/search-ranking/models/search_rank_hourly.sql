-- The top 10 search terms of each hour, from the per-minute counts the pipeline keeps in the lake;
-- each hourly run replaces the hour that just ended
-- materialized: incremental
-- partition_by: hour_start
-- schedule: @hourly
SELECT hour_start, term, cnt, rk FROM (
  SELECT hour_start, term, cnt, ROW_NUMBER() OVER (PARTITION BY hour_start ORDER BY cnt DESC, term) AS rk
  FROM (
    SELECT FLOOR(window_start TO HOUR) AS hour_start, term, SUM(cnt) AS cnt
    FROM marts.search_counts_1m
    WHERE window_start >= {{ start }} AND window_start < {{ end }}
    GROUP BY FLOOR(window_start TO HOUR), term))
WHERE rk <= 10
