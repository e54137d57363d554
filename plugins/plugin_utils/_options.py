# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The controller-side plugins' one way of naming an option they do not know."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib


def did_you_mean(name, known):
    """`` (did you mean x?)`` when one of ``known`` is close to ``name``, else nothing."""
    close = difflib.get_close_matches(name, sorted(known), 1)
    return " (did you mean %s?)" % close[0] if close else ""
