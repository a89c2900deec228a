"""One fresh process of the `validation` benchmark: import one validation library, declare the
schemas `sqlflowc compile` validates for the quickstart (the profile file and a CSV source's
parameters, with the same fields, lax coercions and checks) and validate the quickstart's
profile and its three sources' parameters. `python _validation_worker.py hand|pydantic|msgspec`.
"""

import sys
from typing import Any

PROFILE: dict[str, Any] = {
    "engine": {"type": "duckdb", "path": "target/quickstart.duckdb"},
    "variables": {"min_revenue": 100},
}
PARAMS: list[dict[str, Any]] = [
    {"path": f"data/{name}.csv", "has_header": True} for name in ("customers", "products", "orders")
]


def _engine(value: str) -> str:
    if value.lower() not in {"duckdb", "spark"}:
        raise ValueError("must be duckdb or spark")
    return value.lower()


def _one_char(value: str | None) -> str | None:
    if value is not None and len(value) != 1:
        raise ValueError("must be one character")
    return value


def hand() -> None:
    from dataclasses import dataclass
    from typing import Annotated, Literal

    from sqlflowc.validation import Check, Ge, Le, validate

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Engine:
        type: Annotated[str, Check(_engine)] = "duckdb"
        path: str | None = None
        threads: Annotated[int, Ge(1), Le(1024)] | None = None
        memory_limit: str | None = None
        master: str | None = None
        warehouse: str | None = None
        conf: dict[str, str | int | float | bool] | None = None

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Execution:
        jobs: Annotated[int, Ge(1), Le(64)] | None = None

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Profile:
        engine: Engine | None = None
        execution: Execution | None = None
        variables: dict[str, Any] | None = None
        connections: dict[str, dict[str, Any]] | None = None
        connectors: dict[str, dict[str, Any]] | None = None
        schema_policy: Literal["strict", "evolve"] = "strict"
        schema_drift: Literal["fail", "warn", "accept"] = "warn"

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Csv:
        path: str
        retries: Annotated[int, Ge(0)] = 3
        retry_delay: Annotated[float, Ge(0)] = 1.0
        schema_drift: Literal["fail", "warn", "accept"] | None = None
        access_key_id: str | None = None
        secret_access_key: str | None = None
        session_token: str | None = None
        region: str | None = None
        endpoint_url: str | None = None
        aws_profile: str | None = None
        has_header: bool | None = None
        header: bool | None = None
        delimiter: Annotated[str, Check(_one_char)] = ","
        quote_char: Annotated[str | None, Check(_one_char)] = None
        escape_char: Annotated[str | None, Check(_one_char)] = None
        encoding: str | None = None
        null_values: str | list[str] | None = None
        skip_rows: Annotated[int, Ge(0)] = 0
        columns: dict[str, str] | None = None
        date_format: str | None = None
        timestamp_format: str | None = None
        sample_size: int | None = None

    validate(Profile, PROFILE)
    for params in PARAMS:
        validate(Csv, params)


def pydantic() -> None:
    from typing import Annotated, Literal

    from pydantic import AfterValidator, BaseModel, ConfigDict, Field

    class Model(BaseModel):
        model_config = ConfigDict(extra="forbid", defer_build=True, frozen=True)

    class Engine(Model):
        type: Annotated[str, AfterValidator(_engine)] = "duckdb"
        path: str | None = None
        threads: Annotated[int, Field(ge=1, le=1024)] | None = None
        memory_limit: str | None = None
        master: str | None = None
        warehouse: str | None = None
        conf: dict[str, str | int | float | bool] | None = None

    class Execution(Model):
        jobs: Annotated[int, Field(ge=1, le=64)] | None = None

    class Profile(Model):
        engine: Engine | None = None
        execution: Execution | None = None
        variables: dict[str, Any] | None = None
        connections: dict[str, dict[str, Any]] | None = None
        connectors: dict[str, dict[str, Any]] | None = None
        schema_policy: Literal["strict", "evolve"] = "strict"
        schema_drift: Literal["fail", "warn", "accept"] = "warn"

    OneChar = Annotated[str | None, AfterValidator(_one_char)]

    class Csv(Model):
        path: str
        retries: Annotated[int, Field(ge=0)] = 3
        retry_delay: Annotated[float, Field(ge=0)] = 1.0
        schema_drift: Literal["fail", "warn", "accept"] | None = None
        access_key_id: str | None = None
        secret_access_key: str | None = None
        session_token: str | None = None
        region: str | None = None
        endpoint_url: str | None = None
        aws_profile: str | None = None
        has_header: bool | None = None
        header: bool | None = None
        delimiter: Annotated[str, AfterValidator(_one_char)] = ","
        quote_char: OneChar = None
        escape_char: OneChar = None
        encoding: str | None = None
        null_values: str | list[str] | None = None
        skip_rows: Annotated[int, Field(ge=0)] = 0
        columns: dict[str, str] | None = None
        date_format: str | None = None
        timestamp_format: str | None = None
        sample_size: int | None = None

    Profile.model_validate(PROFILE)
    for params in PARAMS:
        Csv.model_validate(params)


def msgspec() -> None:
    from typing import Annotated, Literal

    import msgspec as ms

    class Struct(ms.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
        pass

    class Engine(Struct):
        type: str = "duckdb"
        path: str | None = None
        threads: Annotated[int, ms.Meta(ge=1, le=1024)] | None = None
        memory_limit: str | None = None
        master: str | None = None
        warehouse: str | None = None
        conf: dict[str, str | int | float | bool] | None = None

        def __post_init__(self) -> None:
            _engine(self.type)

    class Execution(Struct):
        jobs: Annotated[int, ms.Meta(ge=1, le=64)] | None = None

    class Profile(Struct):
        engine: Engine | None = None
        execution: Execution | None = None
        variables: dict[str, Any] | None = None
        connections: dict[str, dict[str, Any]] | None = None
        connectors: dict[str, dict[str, Any]] | None = None
        schema_policy: Literal["strict", "evolve"] = "strict"
        schema_drift: Literal["fail", "warn", "accept"] = "warn"

    class Csv(Struct):
        path: str
        retries: Annotated[int, ms.Meta(ge=0)] = 3
        retry_delay: Annotated[float, ms.Meta(ge=0)] = 1.0
        schema_drift: Literal["fail", "warn", "accept"] | None = None
        access_key_id: str | None = None
        secret_access_key: str | None = None
        session_token: str | None = None
        region: str | None = None
        endpoint_url: str | None = None
        aws_profile: str | None = None
        has_header: bool | None = None
        header: bool | None = None
        delimiter: str = ","
        quote_char: str | None = None
        escape_char: str | None = None
        encoding: str | None = None
        null_values: str | list[str] | None = None
        skip_rows: Annotated[int, ms.Meta(ge=0)] = 0
        columns: dict[str, str] | None = None
        date_format: str | None = None
        timestamp_format: str | None = None
        sample_size: int | None = None

        def __post_init__(self) -> None:
            for value in (self.delimiter, self.quote_char, self.escape_char):
                _one_char(value)

    ms.convert(PROFILE, Profile, strict=False)
    for params in PARAMS:
        ms.convert(params, Csv, strict=False)


if __name__ == "__main__":
    {"hand": hand, "pydantic": pydantic, "msgspec": msgspec}[sys.argv[1]]()
