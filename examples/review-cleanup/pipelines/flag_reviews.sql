-- Each word of a review, lower case, punctuation taken off
CREATE TEMPORARY VIEW review_words AS
SELECT r.review_id, r.product, r.body, w.word
FROM streams.reviews AS r
CROSS JOIN UNNEST(SPLIT(REGEXP_REPLACE(LOWER(r.body), '[^a-z0-9 ]', ' '), ' ')) AS w(word);

-- Reviews with a banned word, against the lake table raw.banned_words read as it grows (a word
-- added later flags earlier reviews too: the join keeps both sides)
CREATE LIVE VIEW flagged_reviews AS
SELECT review_id, product, body, LISTAGG(DISTINCT word) AS banned
FROM (
  SELECT rw.review_id, rw.product, rw.body, rw.word
  FROM review_words AS rw
  JOIN raw.banned_words /*+ OPTIONS('streaming' = 'true', 'monitor-interval' = '1s') */ AS b
    ON rw.word = LOWER(b.word))
GROUP BY review_id, product, body;

-- Every review with whether it passed, in the lake
INSERT INTO marts.reviews_checked
SELECT review_id, product, body, ts FROM streams.reviews;
