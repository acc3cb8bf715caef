import sys

from destination_stripe.run import main

sys.exit(main())
