"""pytest-ecr examples: small tools tested against the fake ECR."""
