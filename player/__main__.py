"""``python -m player --config /etc/aushang-player/player.ini``"""

import sys

from player.main import main

sys.exit(main())
