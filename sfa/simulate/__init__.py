"""The fleet simulator behind ``sfa simulate``: demo reps' devices (the reference client of
``mobile_protocol``) working offline for some days while the back office changes the accounts
under them, then a report and a check that every device converged to the server's state.

    server = InProcessServer(app)              # or RemoteServer("http://127.0.0.1:8000")
    simulation = FleetSimulation(server, FleetPlan(reps=4, days=2), demo_rep_emails())
    print(simulation.run().render())
"""

from sfa.simulate.demo_fleet import demo_fleet_document, demo_rep_emails
from sfa.simulate.fleet import FleetPlan, FleetSimulation
from sfa.simulate.report import SimulationReport
from sfa.simulate.servers import FleetServer, InProcessServer, RemoteServer
from sfa.simulate.transport import InProcessTransport

__all__ = [
    "FleetPlan",
    "FleetServer",
    "FleetSimulation",
    "InProcessServer",
    "InProcessTransport",
    "RemoteServer",
    "SimulationReport",
    "demo_fleet_document",
    "demo_rep_emails",
]
