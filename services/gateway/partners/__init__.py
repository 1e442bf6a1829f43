"""Trading partners: the clearinghouses the gateway exchanges files with, as configured."""
