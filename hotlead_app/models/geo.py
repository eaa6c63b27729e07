from __future__ import annotations

from sqlalchemy import Float, Index
from sqlmodel import Field, SQLModel


class ZipCentroid(SQLModel, table=True):
    """A US ZIP code's centroid and state, loaded by migration 0017 from the pinned
    ``zipcodes`` package (DOMAIN.md "Geography"); never fetched at run time."""

    __tablename__ = "zip_centroids"
    __table_args__ = (Index("ix_zip_centroids_lat_lon", "latitude", "longitude"),)

    zip: str = Field(primary_key=True, max_length=5)
    state: str = Field(max_length=2, index=True)
    latitude: float = Field(sa_type=Float)
    longitude: float = Field(sa_type=Float)
    city: str = Field(default="", max_length=100)
