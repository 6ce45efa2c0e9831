-- Every query of `spend` now names its source, width and kind (IN lists where it wants all), so
-- the primary key serves them; this index cost a third b-tree insert per spend row written.
DROP INDEX spend_by_day;
