from tasklife.lifecycle import COPY_TASK, COPY_TASK_6_8, Lifecycle, StateDef, TransitionDef, get_lifecycle, load_lifecycle, builtin_lifecycles
from tasklife.status import Status
from tasklife.errors import *
