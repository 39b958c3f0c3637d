//! onecycle for candle.
