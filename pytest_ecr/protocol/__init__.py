"""The wire protocol, driven by botocore's ECR service model: decode, validate, dispatch, encode."""
