"""The patient registry: demographics and the guarantor under the practice's patient id, every
change kept with who, when and why, each published as patient.updated with the next revision."""
