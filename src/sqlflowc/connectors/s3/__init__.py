"""S3 and any S3-protocol store (MinIO, moto): CSV, Parquet and JSON objects read and written
through s3fs.

- `params`: the credential fields (`S3Credentials`) every file connector takes for an `s3://`
  path, and what is an S3 location. Imported by the compiler: nothing heavy.
- `files`, `filesystem`, `errors`: the run-time side, imported only when a run reads or writes
  S3 (they import s3fs): reads as DuckDB scans through a registered fsspec filesystem, exports
  written locally and uploaded whole, faults classified as transient or permanent.
"""
