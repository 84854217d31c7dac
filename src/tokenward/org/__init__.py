"""Organisation scans: many repositories fanned out on Dask distributed into one shared inventory."""
