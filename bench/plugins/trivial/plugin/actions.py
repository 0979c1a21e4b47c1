"""The smallest useful action: what executor overhead is measured with."""

from pydantic import BaseModel

from synapse_sdk.plugins import RuntimeContext, action


class AddParams(BaseModel):
    a: int
    b: int


@action(name='add', params=AddParams)
def add(params: AddParams, ctx: RuntimeContext) -> dict:
    return {'sum': params.a + params.b}
