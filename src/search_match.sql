WITH RECURSIVE
  q(s) AS (SELECT trim(replace(:q, char(12288), ' '))),
  ch(i, c, u) AS (
    SELECT 1, substr(s, 1, 1), unicode(s) FROM q WHERE s <> ''
    UNION ALL
    SELECT i + 1, substr(s, i + 1, 1), unicode(substr(s, i + 1, 1)) FROM ch, q WHERE i < length(s)
  ),
  acc(i, out, quoted) AS (
    SELECT 0, '"', 0
    UNION ALL
    SELECT ch.i, acc.out || CASE
        WHEN c = '"' THEN '" "'
        WHEN c IN (' ', char(9), char(10), char(13)) THEN
             CASE WHEN quoted THEN ' ' ELSE '" "' END
        WHEN u BETWEEN 12293 AND 12295 OR u BETWEEN 12352 AND 12543
          OR u BETWEEN 12784 AND 12799 OR u BETWEEN 13312 AND 19903
          OR u BETWEEN 19968 AND 40959 OR u BETWEEN 63744 AND 64255
          OR u BETWEEN 131072 AND 262143 THEN ' ' || c || ' '
        ELSE c END,
      CASE WHEN c = '"' THEN NOT quoted ELSE quoted END
    FROM acc JOIN ch ON ch.i = acc.i + 1
  )
SELECT out || '"' FROM acc ORDER BY i DESC LIMIT 1
