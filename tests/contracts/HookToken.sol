// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ITokenReceiver
/// @notice Test-only: what HookToken calls on a contract that receives tokens.
interface ITokenReceiver {
    /// @notice Called after `value` tokens arrived from `from`.
    /// @param from The sender.
    /// @param value The amount.
    function tokensReceived(address from, uint256 value) external;
}

/// @title HookToken
/// @notice Test-only ERC-20 that calls the receiver after every transfer to an account that
///         opted in (as ERC-777-style tokens do), so a receiver can try to re-enter whoever paid
///         it. Anyone may mint. Never deploy outside tests.
contract HookToken {
    mapping(address account => uint256) public balanceOf;
    mapping(address account => bool) public hooked;
    bool public failing;
    mapping(address owner => mapping(address spender => uint256)) public allowance;

    error Insufficient();

    /// @notice Creates `value` tokens for `to`.
    /// @param to Receiver.
    /// @param value Amount.
    function mint(address to, uint256 value) external {
        balanceOf[to] += value;
    }

    /// @notice Makes every transfer to `receiver` call its `tokensReceived`.
    /// @param receiver The opting-in receiver.
    function enableHook(address receiver) external {
        hooked[receiver] = true;
    }

    /// @notice Makes transfers return false without moving anything (a token that fails politely).
    /// @param fail True to fail.
    function setFailing(bool fail) external {
        failing = fail;
    }

    /// @notice Lets `spender` move `value` of the caller's tokens.
    /// @param spender The spender.
    /// @param value The allowance.
    /// @return Always true.
    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        return true;
    }

    /// @notice Moves `value` to `to`, then calls `to.tokensReceived` if `to` opted in.
    /// @param to Receiver.
    /// @param value Amount.
    /// @return False while failing, else true.
    function transfer(address to, uint256 value) external returns (bool) {
        if (failing) return false;
        _move(msg.sender, to, value);
        return true;
    }

    /// @notice Moves `value` from `from` to `to` against the caller's allowance.
    /// @param from Owner.
    /// @param to Receiver.
    /// @param value Amount.
    /// @return False while failing, else true.
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        if (failing) return false;
        if (allowance[from][msg.sender] < value) revert Insufficient();
        allowance[from][msg.sender] -= value;
        _move(from, to, value);
        return true;
    }

    function _move(address from, address to, uint256 value) private {
        if (balanceOf[from] < value) revert Insufficient();
        balanceOf[from] -= value;
        balanceOf[to] += value;
        if (hooked[to]) ITokenReceiver(to).tokensReceived(from, value);
    }
}
