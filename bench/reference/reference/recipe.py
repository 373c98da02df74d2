"""The recipe subset the reference understands, as Pydantic models (what FastAPI users write)."""
from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Resize(_Op):
    op: Literal["resize"]
    width: Optional[int] = Field(default=None, ge=1, le=16384)
    height: Optional[int] = Field(default=None, ge=1, le=16384)
    fit: Literal["inside", "cover", "contain", "fill"] = "inside"

    @model_validator(mode="after")
    def _some_size(self):
        if self.width is None and self.height is None:
            raise ValueError("resize needs width or height")
        if self.fit != "inside" and (self.width is None or self.height is None):
            raise ValueError(f"fit {self.fit} needs both width and height")
        return self


class AutoOrient(_Op):
    op: Literal["auto_orient"]


class Grayscale(_Op):
    op: Literal["grayscale"]


class Blur(_Op):
    op: Literal["blur"]
    sigma: float = Field(ge=0.3, le=100)


class Sharpen(_Op):
    op: Literal["sharpen"]
    sigma: float = Field(default=1.0, ge=0.3, le=100)
    amount: float = Field(default=1.0, ge=0, le=10)
    threshold: int = Field(default=0, ge=0, le=255)


Operation = Annotated[Union[Resize, AutoOrient, Grayscale, Blur, Sharpen], Field(discriminator="op")]


class Output(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    format: Literal["jpeg", "png", "webp"]
    quality: int = Field(default=85, ge=1, le=100)
    operations: list[Operation] = []


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Optional[str] = None
    object: Optional[str] = None

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.url is None) == (self.object is None):
            raise ValueError("source needs exactly one of url and object")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError("source.url must be http(s)")
        return self


class Recipe(BaseModel):
    # tintype's other recipe fields (priority, metadata, ...) are accepted and ignored.
    model_config = ConfigDict(extra="ignore")
    operations: list[Operation] = []
    outputs: list[Output] = Field(min_length=1, max_length=16)
    source: Optional[Source] = None
