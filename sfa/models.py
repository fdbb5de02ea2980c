"""Imports every feature's models so the metadata is complete (app factory, migrations)."""

from sfa import audit  # noqa: F401
from sfa.accounts import models as accounts  # noqa: F401
from sfa.auth import models as auth  # noqa: F401
from sfa.catalog import models as catalog  # noqa: F401
from sfa.erp import models as erp  # noqa: F401
from sfa.forecasts import models as forecasts  # noqa: F401
from sfa.orders import models as orders  # noqa: F401
from sfa.sync import models as sync  # noqa: F401
from sfa.territories import models as territories  # noqa: F401
from sfa.visits import models as visits  # noqa: F401
