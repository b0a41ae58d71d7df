-- Which broker served each row: 'KIS' (the default, and every row written before a second source existed)
-- or 'KIWOOM' (issue 19, the optional second source). A stock-day is one row whichever broker served it.
ALTER TABLE investor_trends ADD COLUMN source text NOT NULL DEFAULT 'KIS' CHECK (source IN ('KIS', 'KIWOOM'));
ALTER TABLE short_selling ADD COLUMN source text NOT NULL DEFAULT 'KIS' CHECK (source IN ('KIS', 'KIWOOM'));
ALTER TABLE program_trading ADD COLUMN source text NOT NULL DEFAULT 'KIS' CHECK (source IN ('KIS', 'KIWOOM'));
