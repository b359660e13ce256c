"""Huawei Cloud OSM service tickets (cases), with the IAM token API and AK/SK request signing."""
