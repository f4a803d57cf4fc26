"""Diagrams of stored flows and of executions (DESIGN §7): reads what `diagram` draws."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flow_manager.diagram import execution_diagram, flow_diagram
from flow_manager.errors import FlowNotFound
from flow_manager.model import Flow

if TYPE_CHECKING:
    from flow_manager.executions import Executions


class Diagrams:
    def __init__(self, executions: Executions) -> None:
        self.executions = executions
        self.flows = executions.flows

    def of_flow(self, flow_id: str) -> str:
        """The flow's current version."""
        return flow_diagram(self.flows.get(flow_id).flow)

    def of_execution(self, execution_id: str) -> str:
        """The version the execution runs (not the flow's current one), with its path."""
        report = self.executions.get(execution_id)
        version = None
        if report.flow_version is not None:
            version = self.flows.store.get_version(report.flow_id, report.flow_version)
        if version is None:  # the flow was deleted while the execution was read
            raise FlowNotFound(report.flow_id)
        return execution_diagram(Flow.model_validate_json(version.document), report)
