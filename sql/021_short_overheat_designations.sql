-- Official 공매도 과열종목 designations (issue 15): the stocks KRX banned from short selling on `time` (the
-- ban day), as flagged (ssts_hot_yn = Y) in the KIS master files of that day. A master file describes one
-- day only, so rows exist only for days ingested on the day itself (docs/short_overheat_designations.md).
CREATE TABLE short_overheat_designations (
    time    date NOT NULL,
    symbol  text NOT NULL,
    source  text NOT NULL DEFAULT 'KIS_MASTER',
    PRIMARY KEY (time, symbol)
);
