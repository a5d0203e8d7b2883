-- A trip is a session of one driver's telemetry: 30 s without a point ends it. The score starts at
-- 100 and loses 5 per hard brake (deceleration past 3 m/s2), 3 per hard acceleration and 1 per
-- second above 110 km/h.
CREATE TEMPORARY VIEW trip_stats AS
SELECT driver, window_start AS started, window_end AS ended,
       COUNT(*) AS points,
       MAX(speed_kmh) AS top_speed,
       SUM(CASE WHEN accel < -3 THEN 1 ELSE 0 END) AS hard_brakes,
       SUM(CASE WHEN accel > 3 THEN 1 ELSE 0 END) AS hard_accels,
       SUM(CASE WHEN speed_kmh > 110 THEN 1 ELSE 0 END) AS speeding_seconds
FROM TABLE(SESSION(TABLE streams.telemetry PARTITION BY driver, DESCRIPTOR(ts), INTERVAL '30' SECOND))
GROUP BY driver, window_start, window_end;

INSERT INTO marts.trip_scores
SELECT driver, started, ended, points, top_speed, hard_brakes, hard_accels, speeding_seconds,
       GREATEST(0, 100 - 5 * hard_brakes - 3 * hard_accels - speeding_seconds) AS score
FROM trip_stats;

-- Each driver's latest trips, for a dashboard
CREATE LIVE VIEW driver_scores AS
SELECT driver, COUNT(*) AS trips, AVG(CAST(GREATEST(0, 100 - 5 * hard_brakes - 3 * hard_accels - speeding_seconds) AS DOUBLE)) AS avg_score
FROM trip_stats GROUP BY driver;
