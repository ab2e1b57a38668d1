from django.apps import AppConfig


class SimulationConfig(AppConfig):
    """The shared world: ``manage.py simulate`` drives communities through the loop via services."""

    name = "shoploop.simulation"
    verbose_name = "Simulation"
