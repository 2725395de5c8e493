//! Network weather: a proxy that re-chunks a byte stream on purpose. (Being written.)
