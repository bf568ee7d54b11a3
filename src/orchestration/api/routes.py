"""Routes of API v1 and v2: the same handlers, v2 lists are cursor pages (spec §2.7).

Handlers only parse, call the service layer and shape the JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeAlias

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from orchestration.service import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, Delivery, Services, page_query

from . import _contract as contract
from . import _serialize as wire
from . import models
from ._bodies import YAML_MEDIA_TYPES, parse_event, parse_json, parse_variables, parse_workflow_body
from ._params import (
    Cursor,
    Flag,
    InstanceId,
    NameFilter,
    PageSize,
    StageNumber,
    TriggerId,
    WaitFlag,
    WorkflowFilter,
    WorkflowId,
    WorkflowIdPath,
    truthy,
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Error},
    404: {"model": models.Error},
    413: {"model": models.Error, "description": "The body is larger than `--max-body-size`"},
    500: {"model": models.Error},
}


def _body(schema: str, *, required: bool = True, yaml: bool = False) -> dict[str, Any]:
    media_types = ("application/json", *(YAML_MEDIA_TYPES if yaml else ()))
    content = {media_type: {"schema": contract.ref(schema)} for media_type in media_types}
    return {"requestBody": {"required": required, "content": content}}


async def get_services(request: Request) -> Services:  # async: no worker-thread hop
    services: Services = request.app.state.services
    return services


ServicesDep: TypeAlias = Annotated[Services, Depends(get_services)]


def add_routes(router: APIRouter, version: int, *, prefix: str) -> None:
    """Add the v1 (`version=1`) or v2 routes to `router`, under `prefix`.

    Added, not included as a router of their own: FastAPI matches an included router's routes
    once to choose it and again to handle the request, which cost more than the handler."""
    paged = version == 2
    tag = f"v{version}"

    def route(
        path: str, method: str, *, slash: bool = True, responses: dict[int | str, Any] | None = None, **kwargs: Any
    ) -> Callable[[Any], Any]:
        # The original accepts a trailing slash on collection and item routes (§2.1).
        def register(handler: Any) -> Any:
            opts = {
                "methods": [method], "tags": [tag], "response_model": None,
                "responses": {**_ERRORS, **(responses or {})}, **kwargs,
            }
            opts.setdefault("operation_id", f"v{version}_{handler.__name__}")
            router.add_api_route(prefix + path, handler, **opts)
            if slash:
                router.add_api_route(prefix + path + "/", handler, include_in_schema=False, **opts)
            return handler

        return register

    def list_of(item: type[models._Wire]) -> dict[int | str, dict[str, Any]]:
        return {200: {"model": models.CursorResponse[item] if paged else models.Data[list[item]]}}  # type: ignore[valid-type]

    # v1 lists are whole (no pageSize, no cursor: they would be ignored); v2 lists are pages.
    if paged:

        @route("/workflows", "GET", responses=list_of(models.Workflow))
        async def list_workflows(svc: ServicesDep, pageSize: PageSize = None, cursor: Cursor = None) -> JSONResponse:
            page = await svc.workflows.list_page(page_query(page_size=pageSize, cursor=cursor, filters={}))
            return JSONResponse(wire.cursor(page, [wire.workflow(w) for w in page.items]))

    else:

        @route("/workflows", "GET", responses=list_of(models.Workflow))
        async def list_workflows(svc: ServicesDep) -> JSONResponse:
            return JSONResponse({"data": [wire.workflow(w) for w in await svc.workflows.list_all()]})

    @route(
        "/workflows",
        "POST",
        status_code=201,
        responses={201: {"model": models.Data[models.Workflow]}},
        openapi_extra=_body("WorkflowDefinition", yaml=True),
    )
    async def create_workflow(request: Request, svc: ServicesDep) -> JSONResponse:
        # Up to --max-body-size of YAML takes seconds to parse: off the event loop.
        body = await run_in_threadpool(parse_workflow_body, await request.body(), request.headers.get("content-type"))
        row = await svc.workflows.create(body)
        return JSONResponse({"data": wire.workflow(row)}, status_code=201)

    @route("/workflows/{workflowId}", "GET", responses={200: {"model": models.Data[models.Workflow]}})
    async def get_workflow(workflowId: WorkflowId, svc: ServicesDep) -> JSONResponse:
        return JSONResponse({"data": wire.workflow(await svc.workflows.get(workflowId))})

    @route("/workflows/{workflowId}", "DELETE", status_code=204)
    async def delete_workflow(workflowId: WorkflowIdPath, svc: ServicesDep) -> Response:
        # the one route that checks the id's format, with a 400 (the service does).
        await svc.workflows.delete(workflowId)
        return Response(status_code=204)

    @route(
        "/workflows/{workflowId}/instances",
        "POST",
        status_code=201,
        responses={201: {"model": models.Data[models.WorkflowInstance]}},
        openapi_extra=_body("RunVariables", required=False),
    )
    async def run_workflow(
        workflowId: WorkflowId, request: Request, svc: ServicesDep, wait: WaitFlag = None
    ) -> JSONResponse:
        variables = parse_variables(await request.body())
        view = await svc.instances.run(workflowId, variables, wait=truthy(wait))
        return JSONResponse({"data": wire.instance(view.instance, view.stages, view.workflow)}, status_code=201)

    if paged:

        @route("/instances", "GET", responses=list_of(models.WorkflowInstance))
        async def list_instances(
            svc: ServicesDep,
            workflowID: WorkflowFilter,
            running: Flag = None,
            pageSize: PageSize = None,
            cursor: Cursor = None,
        ) -> JSONResponse:
            filters = {"WorkflowID": workflowID or "", "Running": truthy(running)}
            page = await svc.instances.list_page(page_query(page_size=pageSize, cursor=cursor, filters=filters))
            return JSONResponse(wire.cursor(page, [wire.instance(i.instance, of=i.workflow) for i in page.items]))

    else:

        @route("/instances", "GET", responses=list_of(models.WorkflowInstance))
        async def list_instances(svc: ServicesDep, workflowID: WorkflowFilter, running: Flag = None) -> JSONResponse:
            rows = await svc.instances.list_all(workflow_id=workflowID, running=truthy(running))
            return JSONResponse({"data": [wire.instance(i.instance, of=i.workflow) for i in rows]})

    @route("/instances/{instanceId}", "GET", responses={200: {"model": models.Data[models.WorkflowInstance]}})
    async def get_instance(instanceId: InstanceId, svc: ServicesDep) -> JSONResponse:
        view = await svc.instances.get(instanceId)
        return JSONResponse({"data": wire.instance(view.instance, view.stages, view.workflow)})

    @route(
        "/instances/{instanceId}/events", "POST", slash=False, status_code=204, openapi_extra=_body("EventRequest")
    )
    async def send_event(instanceId: InstanceId, request: Request, svc: ServicesDep) -> Response:
        await svc.instances.send_event(instanceId, parse_event(await request.body()))
        return Response(status_code=204)

    @route("/instances/{instanceId}/abort", "PUT", slash=False, status_code=204)
    async def cancel_event(instanceId: InstanceId, svc: ServicesDep) -> Response:
        await svc.instances.abort(instanceId)
        return Response(status_code=204)

    @route(
        "/instances/{instanceId}/history", "GET", slash=False,
        responses={200: {"model": models.Data[list[models.StageHistory]]}},
    )
    async def get_instance_history(instanceId: InstanceId, svc: ServicesDep) -> JSONResponse:
        rows = await svc.instances.history(instanceId)
        return JSONResponse({"data": [wire.stage_history(s) for s in rows]})

    @route(
        "/instances/{instanceId}/stages/{number}/history",
        "GET",
        slash=False,
        responses={200: {"model": models.Data[list[models.ActivityHistory]]}},
    )
    async def get_instance_stage_history(instanceId: InstanceId, number: StageNumber, svc: ServicesDep) -> JSONResponse:
        rows = await svc.instances.stage_history(instanceId, number)
        return JSONResponse({"data": [wire.activity_history(a) for a in rows]})

    @route("/triggers", "GET", responses=list_of(models.Trigger))
    async def list_triggers(
        svc: ServicesDep, name: NameFilter = None, pageSize: PageSize = None, cursor: Cursor = None
    ) -> JSONResponse:
        page = await svc.triggers.list_page(page_query(page_size=pageSize, cursor=cursor, filters={"Name": name or ""}))
        items = [wire.trigger(t) for t in page.items]
        # v1 pages like v2 but answers only the page's items.
        return JSONResponse(wire.cursor(page, items) if paged else {"data": items})

    @route(
        "/triggers",
        "POST",
        status_code=201,
        responses={201: {"model": models.Data[models.Trigger]}},
        openapi_extra=_body("TriggerData"),
    )
    async def create_trigger(request: Request, svc: ServicesDep) -> JSONResponse:
        body = parse_json(await request.body())
        row = await svc.triggers.create(body)
        # §2.6 E13: the answer echoes the request's `workflow` (it is never stored).
        echoed = body.get("workflow") if isinstance(body, dict) else None
        return JSONResponse({"data": wire.trigger(row, echoed)}, status_code=201)

    @route("/triggers/{triggerID}", "GET", responses={200: {"model": models.Data[models.Trigger]}})
    async def read_trigger(triggerID: TriggerId, svc: ServicesDep) -> JSONResponse:
        return JSONResponse({"data": wire.trigger(await svc.triggers.get(triggerID))})

    @route("/triggers/{triggerID}", "DELETE", status_code=204)
    async def delete_trigger(triggerID: TriggerId, svc: ServicesDep) -> Response:
        await svc.triggers.delete(triggerID)
        return Response(status_code=204)

    if paged:

        @route("/triggers/{triggerID}/occurrences", "GET", slash=False, responses=list_of(models.TriggerOccurrence))
        async def list_trigger_occurrences(
            triggerID: TriggerId, svc: ServicesDep, pageSize: PageSize = None, cursor: Cursor = None
        ) -> JSONResponse:
            query = page_query(page_size=pageSize, cursor=cursor, filters={"TriggerID": triggerID})
            page = await svc.triggers.occurrences_page(triggerID, query)
            return JSONResponse(wire.cursor(page, [wire.occurrence(o) for o in page.items]))

        @route(
            "/triggers/{triggerID}/test",
            "POST",
            slash=False,
            responses={200: {"model": models.Data[models.TestTriggerResult]}},
            openapi_extra=_body("TriggerTestEvent"),
        )
        async def test_trigger(triggerID: TriggerId, request: Request, svc: ServicesDep) -> JSONResponse:
            result = await svc.triggers.test(triggerID, parse_json(await request.body()))
            return JSONResponse({"data": wire.test_result(result)})

        @route(
            "/webhooks",
            "POST",
            slash=False,
            responses={
                200: {"model": models.Data[models.WebhookResult]},
                401: {"model": models.Error, "description": "Unsigned, badly signed or stale"},
            },
            openapi_extra=_body("FormanceEvent"),
        )
        async def receive_webhook(request: Request, svc: ServicesDep) -> JSONResponse:
            """A Formance event from the Webhooks service: it fires the triggers it matches.
            Authenticated by its signature (`--webhooks-secret`); 404 when none is set."""
            headers = request.headers
            delivery = Delivery(
                webhook_id=headers.get(ID_HEADER, "").encode("latin-1"),  # the bytes as sent
                timestamp=headers.get(TIMESTAMP_HEADER, "").encode("latin-1"),
                signatures=headers.get(SIGNATURE_HEADER, "").encode("latin-1"),
                body=await request.body(),
            )
            outcome = await svc.webhooks.receive(delivery)
            return JSONResponse({"data": wire.dispatch_outcome(outcome)})

    else:

        @route("/triggers/{triggerID}/occurrences", "GET", slash=False, responses=list_of(models.TriggerOccurrence))
        async def list_trigger_occurrences(triggerID: TriggerId, svc: ServicesDep) -> JSONResponse:
            return JSONResponse({"data": [wire.occurrence(o) for o in await svc.triggers.occurrences(triggerID)]})
