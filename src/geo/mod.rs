//! Geography: coordinate systems, partitions and point sampling. Pure, no I/O.
